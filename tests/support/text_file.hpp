#pragma once
// A whole file as a string, "" when it cannot be read: for tests that compare what a file holds.

#include <fstream>
#include <iterator>
#include <string>

namespace lxcprov::testing {

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace lxcprov::testing
