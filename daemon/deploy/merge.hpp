#pragma once
// How an update's given deploy values combine with what the container's create (or last update)
// stored. Pure.
//
// INTERIM (wt-engine): the request engineer's deploy/merge.hpp is the real one; this minimal
// version lets the update engine build and be tested. Where the two differ, theirs wins and
// DeployFeature::prepare_update calls it instead.

#include "common/result.hpp"
#include "deploy/spec.hpp"

namespace lxcprov::deploy {

/// Which of an update's variables the client gave.
struct GivenFields {
  bool repository = false;  ///< PROJECT_REPOSITORY
  bool branch = false;      ///< PROJECT_BRANCH
  bool root = false;        ///< PROJECT_ROOT
  bool components = false;  ///< the commands and runtimes (and MULTI_COMPONENT)
  bool root_start = false;  ///< ROOT_START_COMMAND
  bool services = false;    ///< SERVICES
  bool custom_services = false;
};

/// Until the dialogue says which variables were given: a non-empty value counts as given.
GivenFields given_by_presence(const DeploySpec& given);

/// The spec an update deploys: each given value replaces the stored one (a new repository without a
/// branch takes that repository's default branch); services and custom services only grow (an
/// update adds services, never removes them); the commit is always the given one (the check's, or
/// "" = the branch's tip at the clone), never the stored one. Errc::invalid_argument when the
/// result has nothing to run.
Result<DeploySpec> merge(const DeploySpec& stored, const DeploySpec& given, const GivenFields& which);

}  // namespace lxcprov::deploy
