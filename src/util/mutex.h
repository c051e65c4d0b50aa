// SPDX-License-Identifier: MIT
// A mutex that clang's thread-safety analysis (-Wthread-safety) understands, and the
// annotations that say which lock guards which state. Under g++ the annotations vanish.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define FTX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define FTX_THREAD_ANNOTATION(x)
#endif

/// The member may be read or written only with the mutex held.
#define GUARDED_BY(m) FTX_THREAD_ANNOTATION(guarded_by(m))
/// The function must be called with the mutex held.
#define REQUIRES(...) FTX_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
/// The function takes the mutex itself: calling it with the mutex held would deadlock.
#define EXCLUDES(...) FTX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define FTX_CAPABILITY(x) FTX_THREAD_ANNOTATION(capability(x))
#define FTX_SCOPED_CAPABILITY FTX_THREAD_ANNOTATION(scoped_lockable)
#define FTX_ACQUIRE(...) FTX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define FTX_RELEASE(...) FTX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define FTX_NO_THREAD_SAFETY_ANALYSIS FTX_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace ftx {

/// std::mutex, annotated.
class FTX_CAPABILITY("mutex") Mutex {
 public:
  void lock() FTX_ACQUIRE() { mutex_.lock(); }
  void unlock() FTX_RELEASE() { mutex_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mutex_;
};

/// Holds a Mutex for its scope; condition variables wait through it.
class FTX_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) FTX_ACQUIRE(mutex) : lock_(mutex.mutex_) {}
  ~MutexLock() FTX_RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  /// Lets go of the mutex for a while (blocking work), and takes it back.
  void unlock() FTX_RELEASE() { lock_.unlock(); }
  void lock() FTX_ACQUIRE() { lock_.lock(); }

  /// Waits on cv until done(), which runs with the lock held: declare it so, as
  /// `[&]() REQUIRES(mutex_) { ... }`, and the analysis checks what it reads. (These two
  /// helpers are trusted: the analysis cannot see that lock_ holds that mutex.)
  template <typename Done>
  void wait(std::condition_variable& cv, Done done) FTX_NO_THREAD_SAFETY_ANALYSIS {
    while (!done()) cv.wait(lock_);
  }

  /// One wait on cv, up to deadline (a wake-up may be spurious: the caller loops).
  void wait_until(std::condition_variable& cv,
                  std::chrono::steady_clock::time_point deadline) FTX_NO_THREAD_SAFETY_ANALYSIS {
    cv.wait_until(lock_, deadline);
  }

  /// wait() up to deadline; returns done() (false: timed out first).
  template <typename Done>
  bool wait_until(std::condition_variable& cv, std::chrono::steady_clock::time_point deadline,
                  Done done) FTX_NO_THREAD_SAFETY_ANALYSIS {
    while (!done()) {
      if (cv.wait_until(lock_, deadline) == std::cv_status::timeout) return done();
    }
    return true;
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace ftx
