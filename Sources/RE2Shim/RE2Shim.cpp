#include "RE2Shim.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstring>

struct re2shim_pattern {
  re2::RE2 regex;
  re2shim_pattern(re2::StringPiece pattern, const re2::RE2::Options &options) : regex(pattern, options) {}
};

re2shim_pattern *re2shim_compile(const char *pattern, size_t length, char *error, size_t error_capacity) {
  re2::RE2::Options options;
  // A bad pattern is the caller's error, reported to it: nothing for the server's stderr.
  options.set_log_errors(false);
  auto *compiled = new re2shim_pattern(re2::StringPiece(pattern, length), options);
  if (compiled->regex.ok()) return compiled;
  if (error_capacity > 0) {
    const std::string &reason = compiled->regex.error();
    size_t count = std::min(reason.size(), error_capacity - 1);
    std::memcpy(error, reason.data(), count);
    error[count] = '\0';
  }
  delete compiled;
  return nullptr;
}

void re2shim_free(re2shim_pattern *pattern) { delete pattern; }

bool re2shim_contains(const re2shim_pattern *pattern, const char *text, size_t length) {
  return re2::RE2::PartialMatch(re2::StringPiece(text, length), pattern->regex);
}
