#include "data/folder_index.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kIndexVersion = 2;  // 2: every folder the scan walked is stamped, nested ones too

bool is_image_name(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// Modification time in nanoseconds (stat follows symlinks, as the scan does); -1 when unreadable.
int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// A 64-bit FNV-1a of the path, in hex: the cache file's name.
std::string path_key(const std::string& path) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : path) h = (h ^ c) * 1099511628211ull;
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

std::vector<std::string> sorted_class_names(const fs::path& root, const std::string& what) {
  std::vector<std::string> classes;
  std::error_code ec;
  fs::directory_iterator it(root, ec);
  DNAS_CHECK(!ec, what, ": cannot list ", root.string(), " (", ec.message(), ")");
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    std::error_code dir_ec;
    if (name.empty() || name[0] == '.' || !entry.is_directory(dir_ec)) continue;
    classes.push_back(name);
  }
  std::sort(classes.begin(), classes.end());
  DNAS_CHECK(classes.size() >= 2, what, ": expected one sub-folder per class (at least 2) in ", root.string(), ", found ",
             classes.size());
  return classes;
}

// Every image under one class folder, relative to the root, in ImageFolder's order; throws on
// anything else. Appends the class folder's sub-folders (relative to the root) to `folders`.
std::vector<std::string> class_files(const fs::path& root, const std::string& name, const std::string& what,
                                     std::vector<std::string>& folders) {
  const fs::path dir = root / name;
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  DNAS_CHECK(!ec, what, ": cannot read class folder ", dir.string(), " (", ec.message(), ")");
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    DNAS_CHECK(!ec, what, ": cannot read ", it->path().string(), " (", ec.message(), ")");
    const std::string file = it->path().filename().string();
    if (!file.empty() && file[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    std::error_code kind_ec;
    if (it->is_directory(kind_ec)) {
      folders.push_back(fs::relative(it->path(), root).string());
      continue;
    }
    DNAS_CHECK(it->is_regular_file(kind_ec), what, ": ", it->path().string(), " is not a regular file");
    DNAS_CHECK(is_image_name(file), what, ": ", it->path().string(), " is not a .jpg/.jpeg/.png image");
    files.push_back(fs::relative(it->path(), root).string());
  }
  DNAS_CHECK(ec.value() == 0, what, ": cannot read class folder ", dir.string(), " (", ec.message(), ")");
  DNAS_CHECK(!files.empty(), what, ": class folder ", dir.string(), " has no .jpg/.jpeg/.png images");
  // ImageFolder's order, sorted(os.walk(...)) then sorted(files): by folder, then by name.
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
    const fs::path pa(a), pb(b);
    const std::string da = pa.parent_path().string(), db = pb.parent_path().string();
    return da != db ? da < db : pa.filename().string() < pb.filename().string();
  });
  return files;
}

// An index with the folders whose modification times say whether it is current: the root, every
// class folder and every folder nested in one (a file added to class/a/b/ changes only b's time).
struct ScannedFolder {
  FolderIndex index;
  std::vector<std::string> folders;  // relative to the root; "" is the root
};

ScannedFolder scan(const std::string& root, const std::string& what) {
  ScannedFolder scanned;
  FolderIndex& index = scanned.index;
  index.root = root;
  index.classes = sorted_class_names(root, what);
  scanned.folders.push_back("");
  for (size_t label = 0; label < index.classes.size(); ++label) {
    scanned.folders.push_back(index.classes[label]);
    for (std::string& file : class_files(root, index.classes[label], what, scanned.folders)) {
      std::error_code ec;
      const uintmax_t size = fs::file_size(fs::path(root) / file, ec);
      DNAS_CHECK(!ec, what, ": cannot read ", root, "/", file, " (", ec.message(), ")");
      index.files.push_back(std::move(file));
      index.sizes.push_back(static_cast<int64_t>(size));
      index.labels.push_back(static_cast<int64_t>(label));
    }
  }
  return scanned;
}

// What makes a cached index current: each scanned folder's modification time (-1: gone).
std::vector<int64_t> folder_stamps(const std::string& root, const std::vector<std::string>& folders) {
  std::vector<int64_t> stamps;
  for (const std::string& folder : folders) stamps.push_back(mtime_ns(folder.empty() ? root : root + "/" + folder));
  return stamps;
}

std::optional<FolderIndex> read_cache(const std::string& cache, const std::string& root) {
  try {
    std::error_code ec;
    if (cache.empty() || !fs::is_regular_file(cache, ec)) return std::nullopt;
    const json j = json::parse(read_text_file(cache));
    if (j.at("version") != kIndexVersion || j.at("root") != root) return std::nullopt;
    FolderIndex index;
    index.root = root;
    j.at("classes").get_to(index.classes);
    j.at("files").get_to(index.files);
    j.at("sizes").get_to(index.sizes);
    j.at("labels").get_to(index.labels);
    const size_t n = index.files.size();
    if (index.sizes.size() != n || index.labels.size() != n || index.classes.size() < 2) return std::nullopt;
    for (int64_t label : index.labels)
      if (label < 0 || label >= static_cast<int64_t>(index.classes.size())) return std::nullopt;
    const std::vector<std::string> folders = j.at("folders").get<std::vector<std::string>>();
    if (j.at("stamps").get<std::vector<int64_t>>() != folder_stamps(root, folders)) return std::nullopt;
    return index;
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable or stale: scan again
  }
}

void write_cache(const std::string& cache, const ScannedFolder& scanned) {
  const FolderIndex& index = scanned.index;
  if (cache.empty()) return;
  try {
    std::error_code ec;
    fs::create_directories(fs::path(cache).parent_path(), ec);
    const json j = {{"version", kIndexVersion},
                    {"root", index.root},
                    {"folders", scanned.folders},
                    {"stamps", folder_stamps(index.root, scanned.folders)},
                    {"classes", index.classes},
                    {"files", index.files},
                    {"sizes", index.sizes},
                    {"labels", index.labels}};
    write_text_file_atomic(cache, j.dump());
  } catch (const std::exception&) {
    // An unwritable cache only costs the next run a scan.
  }
}

}  // namespace

std::string folder_index_cache_path(const std::string& root) {
  std::string dir;
  if (const char* v = std::getenv("DNAS_CACHE_DIR"); v != nullptr && *v != '\0') dir = v;
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') dir = std::string(x) + "/dnas";
  else if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') dir = std::string(h) + "/.cache/dnas";
  if (dir.empty()) return "";
  return dir + "/folder-index-" + path_key(root) + ".json";
}

bool has_train_val_layout(const std::string& root) {
  std::error_code ec;
  return fs::is_directory(fs::path(root) / "train", ec) && fs::is_directory(fs::path(root) / "val", ec);
}

bool has_train_without_val(const std::string& root) {
  std::error_code ec;
  const fs::path train = fs::path(root) / "train";
  if (!fs::is_directory(train, ec) || fs::is_directory(fs::path(root) / "val", ec)) return false;
  for (fs::directory_iterator it(train, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code dir_ec;
    if (!name.empty() && name[0] != '.' && it->is_directory(dir_ec)) return true;
  }
  return false;  // a class named "train" holding its images directly
}

FolderIndex index_image_folder(const std::string& folder, const std::string& what) {
  std::error_code ec;
  const std::string root = fs::weakly_canonical(fs::absolute(folder, ec), ec).string();
  DNAS_CHECK(fs::is_directory(root, ec), what, ": ", folder, " is not a directory");
  const std::string cache = folder_index_cache_path(root);
  if (std::optional<FolderIndex> cached = read_cache(cache, root)) return *cached;
  ScannedFolder scanned = scan(root, what);
  write_cache(cache, scanned);
  return std::move(scanned.index);
}

}  // namespace dnas
