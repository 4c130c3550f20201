#include "deploy/redact.hpp"

#include <algorithm>

namespace lxcprov::deploy {

Redactor::Redactor(const std::vector<const Secret*>& always, const std::vector<const Secret*>& values) {
  for (const Secret* s : always)
    if (s && !s->empty()) secrets_.push_back(*s);
  for (const Secret* s : values)
    if (s && s->size() >= min_length) secrets_.push_back(*s);
  std::sort(secrets_.begin(), secrets_.end(), [](const Secret& a, const Secret& b) { return a.size() > b.size(); });
  if (!secrets_.empty()) hold_ = secrets_.front().size() - 1;
}

Redactor::~Redactor() { std::fill(pending_.begin(), pending_.end(), '\0'); }

std::string Redactor::redact(std::string_view text) const {
  std::string out(text);
  for (const auto& s : secrets_) {
    const std::string_view secret = s.reveal();
    for (std::size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at + marker.size()))
      out.replace(at, secret.size(), marker);
  }
  return out;
}

std::string Redactor::feed(std::string_view chunk) {
  if (secrets_.empty()) return std::string(chunk);
  pending_ += chunk;
  std::string text = redact(pending_);
  std::fill(pending_.begin(), pending_.end(), '\0');
  pending_.clear();
  // A secret not yet complete begins within the last hold_ bytes: keep them for the next chunk.
  if (text.size() <= hold_) {
    pending_ = std::move(text);
    return {};
  }
  pending_ = text.substr(text.size() - hold_);
  text.resize(text.size() - hold_);
  return text;
}

std::string Redactor::flush() {
  std::string out = redact(pending_);
  std::fill(pending_.begin(), pending_.end(), '\0');
  pending_.clear();
  return out;
}

}  // namespace lxcprov::deploy
