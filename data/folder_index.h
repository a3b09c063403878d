// The index of an image folder laid out as torchvision's ImageFolder expects: ROOT/<class>/...,
// classes sorted by name and labelled 0..K-1 in that order, each class folder walked recursively
// (symlinks followed) with files sorted by path, as ImageFolder's make_dataset does. Only .jpg,
// .jpeg and .png files (any case) are images; hidden files (".DS_Store") are ignored.
//
// The index (relative path, size in bytes, label) is cached in the user's cache directory
// ($DNAS_CACHE_DIR, else $XDG_CACHE_HOME/dnas, else ~/.cache/dnas) keyed by the folder's absolute
// path, and reused while every folder the scan walked (the root, each class folder, each folder
// nested in one) keeps its modification time; an unwritable cache directory only means no cache.
// ImageNet's 1.28 M files are listed once.
//
// Every problem is a dnas::Error naming the path: fewer than two class folders, an empty class
// folder, a file that is not a .jpg/.jpeg/.png image, an unreadable directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dnas {

struct FolderIndex {
  std::string root;                  // absolute
  std::vector<std::string> classes;  // sorted names; the label of a file is its class's position
  std::vector<std::string> files;    // relative to root
  std::vector<int64_t> sizes;        // bytes
  std::vector<int64_t> labels;

  int64_t size() const { return static_cast<int64_t>(files.size()); }
  std::string path(int64_t i) const { return root + "/" + files[static_cast<size_t>(i)]; }
};

// Scans `root` (or reads the cached index while it is current). `what` names the folder in
// errors (e.g. "--data folder:/data/imagenet").
FolderIndex index_image_folder(const std::string& root, const std::string& what);

// ImageNet's layout: ROOT/train/<class>/ and ROOT/val/<class>/. True when `root` holds both a
// train and a val folder.
bool has_train_val_layout(const std::string& root);

// True when `root` holds a train folder of class folders but no val folder: half of ImageNet's
// layout (e.g. train/ beside test/), which read as a folder of classes would make "train" a class.
bool has_train_without_val(const std::string& root);

// Where the index of `root` is cached ("" when no cache directory can be named).
std::string folder_index_cache_path(const std::string& root);

}  // namespace dnas
