// SPDX-License-Identifier: MIT
// Turning command-line paths into the list of things to send.
#include "client/plan.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "proto/names.h"
#include "util/clock.h"

namespace ftx::client {
namespace {

SendItem item_from(const struct stat& st, std::string path, std::string name, bool in_tree) {
  SendItem item;
  item.kind = S_ISDIR(st.st_mode) ? SendItem::Kind::Directory : SendItem::Kind::File;
  item.path = std::move(path);
  item.name = std::move(name);
  item.size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  item.mode = st.st_mode & 07777;
  item.mtime_ns = ns_from_timespec(st.st_mtim);
  item.in_tree = in_tree;
  return item;
}

SendItem unreadable(std::string path, std::string name, bool in_tree, std::string error) {
  SendItem item;
  item.path = std::move(path);
  item.name = std::move(name);
  item.in_tree = in_tree;
  item.error = std::move(error);
  return item;
}

class TreeWalker {
 public:
  TreeWalker(const PlanOptions& options, SendPlan& plan) : options_(options), plan_(plan) {}

  void walk(const std::string& path, const std::string& name, const struct stat& st) {
    ancestors_.emplace_back(st.st_dev, st.st_ino);
    std::vector<std::string> entries;
    if (DIR* d = ::opendir(path.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        const std::string_view n = e->d_name;
        if (n != "." && n != "..") entries.emplace_back(n);
      }
      ::closedir(d);
    } else {
      plan_.items.push_back(
          unreadable(path, name, true, "cannot read directory " + path + ": " + std::strerror(errno)));
      ancestors_.pop_back();
      return;
    }
    std::sort(entries.begin(), entries.end());
    for (const std::string& entry : entries) visit(path + "/" + entry, name + "/" + entry);
    ancestors_.pop_back();
    plan_.items.push_back(item_from(st, path, name, true));  // after its contents
  }

 private:
  void visit(const std::string& path, const std::string& name) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) {
      plan_.items.push_back(
          unreadable(path, name, true, "cannot read " + path + ": " + std::strerror(errno)));
      return;
    }
    if (S_ISLNK(st.st_mode)) {
      if (!options_.follow_symlinks) {
        plan_.warnings.push_back("skipping symbolic link " + path +
                                 " (--follow-symlinks sends what it points to)");
        return;
      }
      if (::stat(path.c_str(), &st) < 0) {
        plan_.warnings.push_back("skipping broken symbolic link " + path);
        return;
      }
    }
    if (S_ISDIR(st.st_mode)) {
      const auto id = std::make_pair(st.st_dev, st.st_ino);
      if (std::find(ancestors_.begin(), ancestors_.end(), id) != ancestors_.end()) {
        plan_.warnings.push_back("skipping " + path + ": a link back to a directory that encloses it");
        return;
      }
      walk(path, name, st);
    } else if (S_ISREG(st.st_mode)) {
      plan_.items.push_back(item_from(st, path, name, true));
    } else {
      plan_.warnings.push_back("skipping " + path + ": not a regular file or directory");
    }
  }

  const PlanOptions& options_;
  SendPlan& plan_;
  std::vector<std::pair<dev_t, ino_t>> ancestors_;
};

}  // namespace

SendPlan plan_send(const std::vector<std::string>& paths, const PlanOptions& options) {
  SendPlan plan;
  for (const std::string& path : paths) {
    std::string top = options.as_name.value_or(proto::base_name(path));
    if (path == "-") {
      SendItem stream;
      stream.kind = SendItem::Kind::Stream;
      stream.path = path;
      stream.name = std::move(top);
      stream.mode = 0644;
      plan.items.push_back(std::move(stream));
      continue;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) {  // arguments: links are followed, as scp and rsync do
      plan.items.push_back(
          unreadable(path, std::move(top), false, "cannot read " + path + ": " + std::strerror(errno)));
    } else if (S_ISDIR(st.st_mode)) {
      if (!options.as_name && (top == "." || top == ".." || top == "/")) {
        // "." is not a name: the directory's own name is.
        if (char* real = ::realpath(path.c_str(), nullptr)) {
          top = proto::base_name(real);
          std::free(real);
        }
      }
      TreeWalker(options, plan).walk(path, top, st);
    } else if (S_ISREG(st.st_mode)) {
      plan.items.push_back(item_from(st, path, std::move(top), false));
    } else {
      plan.items.push_back(
          unreadable(path, std::move(top), false, path + " is not a regular file or directory"));
    }
  }
  return plan;
}

}  // namespace ftx::client
