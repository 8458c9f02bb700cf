#pragma once
/// \file
/// A LibTorch-free check of the zip container that torch.save, torch.jit.save and LibTorch's
/// OutputArchive write (checkpoint.pt, model_final.pt, TorchScript models, torch.save'd data), run
/// before the file is handed to LibTorch. LibTorch 1.13's reader does not verify the entries' CRC-32
/// (a flipped bit in a weight is loaded silently) and trusts the directory's offsets and sizes;
/// this check reads the end-of-central-directory record (zip64 too), every central-directory entry
/// and its local header, keeps every entry inside the file and before the directory, and compares
/// each stored entry's CRC-32 with the one recorded. Fuzzed by tests/fuzz/fuzz_zip.cpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flatmin::common {

/// What is wrong with the zip archive in `bytes` (one phrase, e.g. "entry 'archive/data/3' fails its
/// CRC-32 check"), or nothing when it is a well-formed archive whose stored entries match their CRCs.
std::optional<std::string> zip_archive_problem(std::string_view bytes);

/// The same for the file at `path` (read in chunks, not held in memory); "cannot be read" when it
/// cannot be opened. Callers put it in their own message: `<file>: unreadable checkpoint: <problem>`.
std::optional<std::string> zip_file_problem(const std::string& path);

}  // namespace flatmin::common
