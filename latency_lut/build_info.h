// What build of dnas this is, recorded with every profiling run: the source commit (with
// "-dirty" when the tree had local changes at build time) and the version.
#pragma once

namespace dnas {

const char* dnas_build_commit();
const char* dnas_version();

}  // namespace dnas
