// Small text-formatting helpers for human-readable CLI output: thousands separators, MAC and
// byte counts with units, and a column-aligned table.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace dnas::cli {

std::string with_commas(int64_t value);     // 1248424 -> "1,248,424"
std::string human_count(int64_t value);     // 378136224 -> "378.14M"
std::string human_bytes(int64_t bytes);     // 3211264 -> "3.06 MiB"

class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> right_aligned = {});
  void add_row(std::vector<std::string> cells);
  void add_separator();
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;  // an empty row is a separator
};

}  // namespace dnas::cli
