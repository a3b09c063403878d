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
std::string percent(double fraction, int digits = 1);  // 0.953 -> "95.3%"
std::string fixed(double value, int digits);           // fixed(1.23456, 3) -> "1.235"
std::string format_us(double us);                      // 1234.5 -> "1.23 ms", 12.3 -> "12.3 us"

class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> right_aligned = {});
  void add_row(std::vector<std::string> cells);
  void add_separator();
  // Every line starts with `indent`.
  void print(std::ostream& out, const std::string& indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;  // an empty row is a separator
};

}  // namespace dnas::cli
