#pragma once
/// \file
/// One mapper from a library's (LibTorch's) exception text to one readable line (issue 15). Torch-free:
/// it only processes the text, so common stays LibTorch-free.
#include <cstddef>
#include <string>

namespace flatmin::common {

/// The one readable line of a library's (LibTorch's) exception text `what`, for an error message that
/// names the file itself: the first meaningful sentence, without the C++ backtrace. c10::Error texts
/// ("<message>\nException raised from … (most recent call first):\nframe #0: …") are cut before
/// "Exception raised from" / "frame #"; a text with a line "<Name>Error: <message>" (the TorchScript
/// interpreter's report ends with one) gives that line's message (the last such line, without "<Name>Error: "); otherwise the first non-empty line. Whitespace is collapsed and a text longer than `max_chars`
/// is cut at a word boundary with "…" (never mid-word). Never empty ("unknown error").
/// Every LibTorch error shown to a user goes through this one mapper (checkpoints, TorchScript models,
/// torch.save'd data, devices).
std::string short_library_error(const std::string& what, std::size_t max_chars = 240);

}  // namespace flatmin::common
