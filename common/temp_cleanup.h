#pragma once
/// \file
/// Temporaries of AtomicFile removed when the process is ended by SIGTERM, SIGINT or SIGHUP (a kill -9 cannot be
/// caught: those temporaries go on the next start of a locked run folder, common/run_lock.h).

namespace flatmin::common {

/// Tracks `path` (at most 64 at once; a longer path than 4095 bytes is not tracked). Thread-safe.
void track_temp(const char* path);
/// Stops tracking `path` (after its rename or removal). Thread-safe.
void untrack_temp(const char* path);
/// For SIGTERM, SIGINT and SIGHUP whose disposition is the default: a handler that unlinks the tracked temporaries
/// and then ends the process by the same signal (the exit status is unchanged). run_main calls it.
void remove_temps_on_termination_signals();

}  // namespace flatmin::common
