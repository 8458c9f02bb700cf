#pragma once
/// \file
/// Up-front checks of output locations (issue 15 item 1): a command checks every place it will write
/// before doing any work, so an unusable path is bad input (InputError, exit 2) naming the flag and the
/// path, not a `filesystem error` after the computation.

#include <string>

namespace flatmin::common {

/// Checks that `path` can be used as an output folder given by `flag` (e.g. "--out"): it is an existing
/// writable folder, or it does not exist and its nearest existing ancestor is a writable folder; it is
/// not under /proc or /sys. Creates nothing. Throws InputError naming `flag` and `path` otherwise.
void check_output_dir(const std::string& path, const std::string& flag);

/// Checks that `path` can be used as an output file given by `flag`: not an existing folder, not under
/// /proc or /sys, and its parent folder passes check_output_dir. Creates nothing. Throws InputError.
void check_output_file(const std::string& path, const std::string& flag);

/// Checks that `label` can name a file or folder inside an output folder (a sweep's optimizer label, a
/// theory sweep's study name): 1 to 100 characters of [A-Za-z0-9._+-], not "." or "..", so it never
/// reaches outside that folder. Throws InputError "<what> "<label>" must be … (it names <names>)".
void check_file_label(const std::string& label, const std::string& what, const std::string& names);

}  // namespace flatmin::common
