#include "mpsim/sim/Timeline.hpp"

#include <algorithm>

namespace mpsim::sim {

const char* activityName(Activity a) {
  switch (a) {
  case Activity::Busy: return "busy";
  case Activity::Starved: return "starved";
  case Activity::Blocked: return "blocked";
  case Activity::DramWait: return "DRAM wait";
  }
  return "?";
}

void EngineTrack::addSlow(Activity a, int fifo, uint64_t from, uint64_t to) {
  // add() took the empty intervals and the same activity and FIFO continuing an unmixed slice.
  const int key = keyOf(a, fifo);
  const uint64_t len = to - from;
  if (m_open && from > m_cur.end) close(); // a gap (the engine was idle)
  if (m_open) {
    const bool same = !m_cur.mixed && key == m_keys.front().first;
    if (same || len < m_res || (m_cur.mixed && m_cur.end - m_cur.begin < m_res)) {
      m_cur.end = to;
      m_cur.cycles[size_t(a)] += len;
      auto it = std::find_if(m_keys.begin(), m_keys.end(), [&](const auto& k) { return k.first == key; });
      if (it == m_keys.end())
        m_keys.emplace_back(key, len);
      else
        it->second += len;
      if (!same) m_cur.mixed = true;
      if (m_cur.mixed && m_cur.end - m_cur.begin >= m_res) close();
      return;
    }
    close();
  }
  m_open = true;
  m_cur = Slice{};
  m_cur.begin = from;
  m_cur.end = to;
  m_cur.cycles[size_t(a)] = len;
  m_keys.assign(1, {key, len});
}

void EngineTrack::close() {
  if (!m_open) return;
  auto best = m_keys.begin();
  for (auto it = m_keys.begin(); it != m_keys.end(); ++it)
    if (it->second > best->second) best = it;
  m_cur.what = Activity(best->first / 65536);
  m_cur.fifo = best->first % 65536 - 1;
  m_slices.push_back(m_cur);
  m_open = false;
}

void EngineTrack::finish() { close(); }

void CounterTrack::emit(uint64_t t, int64_t v) {
  if (m_points.back().second == v) return;
  if (m_points.back().first == t)
    m_points.back().second = v;
  else
    m_points.emplace_back(t, v);
}

void CounterTrack::nextWindow(uint64_t t, int64_t v) {
  const uint64_t b = t / m_res;
  m_bucketEnd = (b + 1) * m_res;
  if (b != m_bucket) {
    emit(m_bucket * m_res, m_max);
    if (b > m_bucket + 1 && m_last != m_max) emit((m_bucket + 1) * m_res, m_last);
    m_bucket = b;
    m_max = m_last; // the value held at the window's start
  }
  m_max = std::max(m_max, v);
  m_last = v;
}

void CounterTrack::finish() {
  if (m_finished) return;
  m_finished = true;
  emit(m_bucket * m_res, m_max);
  if (m_last != m_max) emit((m_bucket + 1) * m_res, m_last);
}

void BytesTrack::add(uint64_t t, uint64_t bytes) {
  const uint64_t w = t / m_res;
  // Requests complete out of order by up to a DRAM latency: keep the windows sorted.
  auto it = m_windows.end();
  while (it != m_windows.begin() && std::prev(it)->first > w) --it;
  if (it != m_windows.begin() && std::prev(it)->first == w)
    std::prev(it)->second += bytes;
  else
    m_windows.insert(it, {w, bytes});
}

Timeline::Timeline(const TimelineOptions& opt, std::size_t engines, std::size_t streams) : m_opt(opt) {
  m_opt.resolution = std::max<uint64_t>(1, m_opt.resolution);
  m_engines.resize(engines);
  m_dram.resize(engines);
  m_streams.resize(streams);
  for (std::size_t i = 0; i < engines; ++i)
    if (recordsEngine(i)) m_engines[i] = std::make_unique<EngineTrack>(m_opt.resolution);
}

void Timeline::enableStream(std::size_t i) {
  if (!m_streams.at(i)) m_streams[i] = std::make_unique<CounterTrack>(m_opt.resolution);
}

void Timeline::enableDram(std::size_t engine) {
  if (!m_dram.at(engine)) m_dram[engine] = std::make_unique<BytesTrack>(m_opt.resolution);
}

void Timeline::frameEntered(std::size_t f, uint64_t t) {
  if (m_entered.size() <= f) m_entered.resize(f + 1, 0);
  m_entered[f] = t;
}

void Timeline::frameLeft(std::size_t f, uint64_t t) {
  if (m_left.size() <= f) m_left.resize(f + 1, 0);
  m_left[f] = t;
}

void Timeline::finish() {
  for (auto& e : m_engines)
    if (e) e->finish();
  for (auto& s : m_streams)
    if (s) s->finish();
}

} // namespace mpsim::sim
