// Parsing of the device and memory-layout flags every command shares, with the one-line errors
// that name the flag. --device is cpu or cuda (cuda: cuda:0, or the rank's GPU when distributed).
#pragma once

#include <string>

namespace dnas {

// Throws dnas::Error naming `where` for an unknown device, `cuda` without a usable GPU, or a
// dtype the device cannot run (fp16 on CPU).
void check_device(const std::string& device, const std::string& dtype, const std::string& where);

// A memory-layout value: true for "nhwc" (channels-last), false for "nchw"; anything else is a
// dnas::Error naming `flag` and the value.
bool channels_last_format(const std::string& memory_format, const std::string& flag = "--memory-format");

}  // namespace dnas
