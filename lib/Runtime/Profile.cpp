//===- Profile.cpp - Counters of the runtime's time and work --------------===//

#include "Profile.h"

#include "Taylor/Runtime/Runtime.h"

#include <initializer_list>

taylor_rt::Counters &taylor_rt::counters() {
  static Counters *counters = new Counters;
  return *counters;
}

extern "C" {

void taylor_rt_profile_enable(int enabled) {
  taylor_rt::counters().enabled = enabled != 0;
}

void taylor_rt_profile_read(TaylorRtProfile *profile) {
  auto &c = taylor_rt::counters();
  *profile = {c.gemmCalls,
              c.gemmFlops,
              c.gemmNanoseconds,
              c.allocatorCalls,
              c.allocatorNanoseconds,
              c.jobs,
              c.jobNanoseconds};
}

void taylor_rt_profile_reset(void) {
  auto &c = taylor_rt::counters();
  for (auto *counter :
       {&c.gemmCalls, &c.gemmFlops, &c.gemmNanoseconds, &c.allocatorCalls,
        &c.allocatorNanoseconds, &c.jobs, &c.jobNanoseconds})
    counter->store(0);
}

} // extern "C"
