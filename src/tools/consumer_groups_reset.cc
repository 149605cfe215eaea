// `flotilla consumer-groups --reset-offsets`: the reset plan of each
// inactive group (--to-earliest, --to-latest, --to-current, --to-offset,
// --shift-by, --to-datetime, --by-duration, --from-file), clamped to the log
// as Kafka clamps it, printed (or --export'ed as CSV) and committed with
// --execute. See tools/consumer_groups.h for how the command is split.
#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "common/clock.h"
#include "tools/consumer_groups.h"
#include "tools/kafka_output.h"

namespace flotilla::tools::consumer_groups {

using client::error_text;

namespace {

// Utils.getDateTime: yyyy-MM-dd'T'HH:mm:ss.SSS with an optional zone (Z, +hh:mm, +hhmm);
// without a zone the local time zone.
int64_t parse_datetime(const std::string& s_in) {
  std::string s = s_in;
  std::optional<int> offset_minutes;
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) {
    offset_minutes = 0;
    s.pop_back();
  } else {
    auto t = s.find('T');
    auto pos = s.find_last_of("+-");
    if (t != std::string::npos && pos != std::string::npos && pos > t) {
      std::string z = s.substr(pos + 1);
      z.erase(std::remove(z.begin(), z.end(), ':'), z.end());
      if (z.size() == 4 && std::all_of(z.begin(), z.end(), ::isdigit)) {
        int m = std::stoi(z.substr(0, 2)) * 60 + std::stoi(z.substr(2));
        offset_minutes = s[pos] == '-' ? -m : m;
        s = s.substr(0, pos);
      }
    }
  }
  int Y, M, D, h, mi, sec, ms = 0;
  char tail[8] = {0};
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%1s", &Y, &M, &D, &h, &mi, &sec, &ms, tail);
  if (n < 6 || n == 8) {
    throw std::runtime_error("Error parsing timestamp. It does not contain a 'T' according to ISO8601 format; or the format is not yyyy-MM-dd'T'HH:mm:ss.SSS: " + s_in);
  }
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t secs;
  if (offset_minutes) {
    secs = static_cast<int64_t>(timegm(&tm)) - static_cast<int64_t>(*offset_minutes) * 60;
  } else {
    tm.tm_isdst = -1;
    secs = static_cast<int64_t>(std::mktime(&tm));
  }
  return secs * 1000 + ms;
}

// java.time.Duration.parse for the common PnDTnHnMn.nS forms; milliseconds.
int64_t parse_duration(const std::string& s_in) {
  std::string s = s_in;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s = s.substr(1);
  }
  if (s.size() < 3 || (s[0] != 'P' && s[0] != 'p')) throw std::runtime_error("Text cannot be parsed to a Duration");
  double total = 0;
  bool in_time = false;
  size_t i = 1;
  while (i < s.size()) {
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
    if (c == 'T') {
      in_time = true;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == '-')) ++j;
    if (j == i || j >= s.size()) throw std::runtime_error("Text cannot be parsed to a Duration");
    double v = std::stod(s.substr(i, j - i));
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(s[j])));
    if (u == 'D' && !in_time) total += v * 86400000.0;
    else if (u == 'H' && in_time) total += v * 3600000.0;
    else if (u == 'M' && in_time) total += v * 60000.0;
    else if (u == 'S' && in_time) total += v * 1000.0;
    else throw std::runtime_error("Text cannot be parsed to a Duration");
    i = j + 1;
  }
  return static_cast<int64_t>(neg ? -total : total);
}

}  // namespace

std::map<TopicPartition, int64_t> Service::reset_inactive_group(GroupClient& gc) {
  std::vector<TopicPartition> tps;
  std::map<TopicPartition, int64_t> current;
  bool have_current = false;
  auto committed = [&]() -> const std::map<TopicPartition, int64_t>& {
    if (!have_current) {
      current = gc.fetch_offsets();
      have_current = true;
    }
    return current;
  };
  if (o_.all_topics) {
    for (const auto& [tp, _] : committed()) tps.push_back(tp);
  } else if (!o_.topics.empty()) {
    tps = parse_topic_partitions(o_.topics, true);
  } else if (!o_.from_file) {
    throw Usage("One of the reset scopes should be defined: --all-topics, --topic.");
  }
  std::sort(tps.begin(), tps.end());
  tps.erase(std::unique(tps.begin(), tps.end()), tps.end());
  // checkAllTopicPartitionsValid
  if (!tps.empty()) {
    std::set<std::string> topics;
    for (const auto& tp : tps) topics.insert(tp.first);
    ClusterInfo ci = client().metadata(std::vector<std::string>(topics.begin(), topics.end()));
    std::string missing, leaderless;
    for (const auto& tp : tps) {
      auto it = ci.topics.find(tp.first);
      const PartitionInfo* pi = (it == ci.topics.end() || it->second.error) ? nullptr : it->second.partition(tp.second);
      std::string name = tp.first + "-" + std::to_string(tp.second);
      if (!pi) missing += (missing.empty() ? "" : ",") + name;
      else if (pi->leader < 0) leaderless += (leaderless.empty() ? "" : ",") + name;
    }
    if (!missing.empty()) throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "The partitions \"" + missing + "\" do not exist");
    if (!leaderless.empty()) throw KafkaError(ErrorCode::LEADER_NOT_AVAILABLE, "The partitions \"" + leaderless + "\" have no leader");
  }
  auto clamp = [&](std::map<TopicPartition, int64_t> requested) {
    std::vector<TopicPartition> keys;
    for (const auto& [tp, _] : requested) keys.push_back(tp);
    auto starts = log_offsets(keys, -2, false);
    auto ends = log_offsets(keys, -1, false);
    for (auto& [tp, off] : requested) {
      auto e = ends.find(tp);
      auto s = starts.find(tp);
      if (e != ends.end() && off > e->second) {
        err_ << "WARN New offset (" << off << ") is higher than latest offset for topic partition " << tp.first << "-" << tp.second
             << ". Value will be set to " << e->second << "\n";
        off = e->second;
      } else if (s != starts.end() && off < s->second) {
        err_ << "WARN New offset (" << off << ") is lower than earliest offset for topic partition " << tp.first << "-" << tp.second
             << ". Value will be set to " << s->second << "\n";
        off = s->second;
      }
    }
    return requested;
  };
  std::map<TopicPartition, int64_t> prepared;
  auto by_log = [&](int64_t ts, const char* what) {
    auto offs = log_offsets(tps, ts, false);
    for (const auto& tp : tps) {
      auto it = offs.find(tp);
      if (it == offs.end()) throw Usage(std::string("Error getting ") + what + " of topic partition: " + tp.first + "-" + std::to_string(tp.second));
      prepared[tp] = it->second;
    }
  };
  auto by_time = [&](int64_t ts) {
    auto offs = log_offsets(tps, ts, false);
    std::vector<TopicPartition> fallback;
    for (const auto& tp : tps) {
      auto it = offs.find(tp);
      if (it != offs.end() && it->second >= 0) {
        prepared[tp] = it->second;
      } else {
        out_ << "\nWarn: Partition " << tp.second << " from topic " << tp.first << " is empty. Falling back to latest known offset.\n";
        fallback.push_back(tp);
      }
    }
    auto ends = log_offsets(fallback, -1, false);
    for (const auto& tp : fallback) {
      auto it = ends.find(tp);
      if (it == ends.end()) throw Usage("Error getting offset by timestamp of topic partition: " + tp.first + "-" + std::to_string(tp.second));
      prepared[tp] = it->second;
    }
  };
  if (o_.to_offset) {
    std::map<TopicPartition, int64_t> req;
    for (const auto& tp : tps) req[tp] = *o_.to_offset;
    prepared = clamp(req);
  } else if (o_.to_earliest) {
    by_log(-2, "starting offset");
  } else if (o_.to_latest) {
    by_log(-1, "ending offset");
  } else if (o_.shift_by) {
    std::map<TopicPartition, int64_t> req;
    for (const auto& tp : tps) {
      auto it = committed().find(tp);
      if (it == committed().end())
        throw Usage("Cannot shift offset for partition " + tp.first + "-" + std::to_string(tp.second) + " since there is no current committed offset");
      req[tp] = it->second + *o_.shift_by;
    }
    prepared = clamp(req);
  } else if (o_.to_datetime) {
    by_time(parse_datetime(*o_.to_datetime));
  } else if (o_.by_duration) {
    by_time(wall_clock_ms() - parse_duration(*o_.by_duration));
  } else if (o_.to_current) {
    std::vector<TopicPartition> without;
    for (const auto& tp : tps) {
      auto it = committed().find(tp);
      if (it != committed().end()) prepared[tp] = it->second;
      else without.push_back(tp);
    }
    auto ends = log_offsets(without, -1, true);
    for (const auto& tp : without) prepared[tp] = ends.at(tp);
  } else if (o_.from_file) {
    std::ifstream f(*o_.from_file);
    if (!f) throw std::runtime_error(*o_.from_file + " (No such file or directory)");
    std::map<TopicPartition, int64_t> req;
    std::string line;
    while (std::getline(f, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      std::vector<std::string> cells;
      std::stringstream ss(line);
      std::string c;
      while (std::getline(ss, c, ',')) cells.push_back(c);
      try {
        if (cells.size() == 3) req[{cells[0], std::stoi(cells[1])}] = std::stoll(cells[2]);
        else if (cells.size() == 4 && cells[0] == gc.group_id()) req[{cells[1], std::stoi(cells[2])}] = std::stoll(cells[3]);
        else if (cells.size() != 4) throw std::invalid_argument("");
      } catch (const std::logic_error&) {
        throw std::runtime_error("Invalid line in " + *o_.from_file + ": " + line);
      }
    }
    if (req.empty()) {
      print_error("No reset plan for group " + gc.group_id() + " found.");
      return {};
    }
    prepared = clamp(req);
  }
  if (o_.execute) {
    auto errors = gc.commit_offsets(prepared, -1, "");
    for (const auto& [tp, e] : errors)
      if (e != 0) throw KafkaError(static_cast<ErrorCode>(e), error_text(e));
  }
  return prepared;
}

void Service::do_reset() {
  std::vector<std::string> groups = selected_groups();
  std::map<std::string, std::map<TopicPartition, int64_t>> result;
  for (const auto& g : groups) {
    GroupClient gc = group(g);
    auto d = gc.describe();
    std::string state = d.error_code == code(ErrorCode::GROUP_ID_NOT_FOUND) ? "Dead" : d.group_state;
    if (d.error_code != 0 && d.error_code != code(ErrorCode::GROUP_ID_NOT_FOUND))
      throw KafkaError(static_cast<ErrorCode>(d.error_code), error_text(d.error_code));
    if (state == "Empty" || state == "Dead") {
      result[g] = reset_inactive_group(gc);
    } else {
      print_error("Assignments can only be reset if the group '" + g + "' is inactive, but the current state is " + state + ".");
      result[g] = {};
    }
  }
  if (o_.export_) {
    bool single = o_.groups.size() == 1;
    for (const auto& [g, offs] : result)
      for (const auto& [tp, off] : offs) {
        if (!single) out_ << g << ",";
        out_ << tp.first << "," << tp.second << "," << off << "\n";
      }
    out_ << "\n";
    return;
  }
  size_t wg = 15, wt = 15;
  for (const auto& [g, offs] : result) {
    wg = std::max(wg, g.size());
    for (const auto& [tp, _] : offs) wt = std::max(wt, tp.first.size());
  }
  if (!result.empty()) out_ << "\n" << kafka_columns({{"GROUP", wg}, {"TOPIC", wt}, {"PARTITION", 10}, {"NEW-OFFSET", 0}});
  for (const auto& [g, offs] : result)
    for (const auto& [tp, off] : offs)
      out_ << "\n" << kafka_columns({{g, wg}, {tp.first, wt}, {std::to_string(tp.second), 10}, {std::to_string(off), 0}});
  out_ << "\n";
}

}  // namespace flotilla::tools::consumer_groups
