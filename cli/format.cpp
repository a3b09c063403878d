#include "cli/format.h"

#include <algorithm>
#include <cstdio>

namespace dnas::cli {

std::string with_commas(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return value < 0 ? "-" + digits : digits;
}

std::string human_count(int64_t value) {
  char buffer[32];
  if (value >= 1000000000) std::snprintf(buffer, sizeof buffer, "%.2fG", value / 1e9);
  else if (value >= 1000000) std::snprintf(buffer, sizeof buffer, "%.2fM", value / 1e6);
  else if (value >= 1000) std::snprintf(buffer, sizeof buffer, "%.1fK", value / 1e3);
  else std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(value));
  return buffer;
}

std::string human_bytes(int64_t bytes) {
  char buffer[32];
  if (bytes >= (1 << 20)) std::snprintf(buffer, sizeof buffer, "%.2f MiB", bytes / 1048576.0);
  else if (bytes >= 1024) std::snprintf(buffer, sizeof buffer, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(buffer, sizeof buffer, "%lld B", static_cast<long long>(bytes));
  return buffer;
}

std::string percent(double fraction, int digits) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f%%", digits, 100 * fraction);
  return buffer;
}

std::string fixed(double value, int digits) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string format_us(double us) {
  char buffer[32];
  if (us >= 1000) std::snprintf(buffer, sizeof buffer, "%.2f ms", us / 1000);
  else std::snprintf(buffer, sizeof buffer, "%.1f us", us);
  return buffer;
}

Table::Table(std::vector<std::string> headers, std::vector<bool> right_aligned)
    : headers_(std::move(headers)), right_(std::move(right_aligned)) {
  right_.resize(headers_.size(), false);
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::add_separator() { rows_.emplace_back(); }

void Table::print(std::ostream& out, const std::string& indent) const {
  std::vector<size_t> width(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
  for (const auto& row : rows_)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      line += (c ? "  " : "") + (right_[c] ? pad + row[c] : row[c] + pad);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << indent << line << '\n';
  };
  size_t total = 0;
  for (size_t w : width) total += w;
  total += 2 * (width.size() - 1);
  print_row(headers_);
  out << indent << std::string(total, '-') << '\n';
  for (const auto& row : rows_) {
    if (row.empty()) out << indent << std::string(total, '-') << '\n';
    else print_row(row);
  }
}

}  // namespace dnas::cli
