// What build of dnas this is: the version (from the one place it is set, project() in the top
// CMakeLists.txt) and the source commit (with "-dirty" when the tree had local changes at build
// time). `dnas --version`, ONNX exports and every profiling run record them.
#pragma once

namespace dnas {

const char* dnas_build_commit();
const char* dnas_version();

}  // namespace dnas
