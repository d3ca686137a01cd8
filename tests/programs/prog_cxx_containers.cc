// prog_cxx_containers.cc: a C++ program that leans on the standard containers
// from several threads, for the LD_PRELOAD comparison with glibc
// (prog_cxx.sh).  Output is deterministic: every thread's work depends only
// on its seed, results are printed in thread order, and objects built by
// producers are destroyed by consumers (shared_ptr across threads), so the
// allocator sees cross-thread frees of every size the containers use.
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Record {
	std::string name;
	std::vector<std::uint64_t> values;
	std::map<std::string, std::string> attrs;
};

std::uint64_t
fnv(const std::string &s, std::uint64_t h = 1469598103934665603ULL)
{
	for (unsigned char c : s) {
		h ^= c;
		h *= 1099511628211ULL;
	}
	return h;
}

// A blocking queue of shared_ptr<Record>: producers build, consumers
// digest and drop the last reference (the free happens on their thread).
class Queue {
public:
	void push(std::shared_ptr<Record> r)
	{
		std::lock_guard<std::mutex> g(mu_);
		q_.push_back(std::move(r));
		cv_.notify_one();
	}
	std::shared_ptr<Record> pop()
	{
		std::unique_lock<std::mutex> g(mu_);
		cv_.wait(g, [this] { return !q_.empty() || closed_; });
		if (q_.empty())
			return nullptr;
		auto r = std::move(q_.front());
		q_.pop_front();
		return r;
	}
	void close()
	{
		std::lock_guard<std::mutex> g(mu_);
		closed_ = true;
		cv_.notify_all();
	}

private:
	std::mutex mu_;
	std::condition_variable cv_;
	std::deque<std::shared_ptr<Record>> q_;
	bool closed_ = false;
};

std::shared_ptr<Record>
make_record(std::uint64_t seed, int i)
{
	auto r = std::make_shared<Record>();
	std::uint64_t x = seed * 6364136223846793005ULL + (std::uint64_t)i;

	r->name = "rec-" + std::to_string(seed) + "-" + std::to_string(i);
	r->name.append((size_t)(x % 300), (char)('a' + x % 26));
	size_t n = 1 + (size_t)(x >> 7) % (i % 50 == 0 ? 20000 : 200);
	for (size_t k = 0; k < n; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r->values.push_back(x);
	}
	for (int k = 0; k < (int)(x % 12); k++)
		r->attrs["attr" + std::to_string(k)] =
			std::string((size_t)(k * 37 % 500), (char)('A' + k));
	return r;
}

// Work a thread does on its own: maps, unordered_maps, strings, sorting.
std::string
local_work(int t)
{
	std::map<int, std::string> m;
	std::unordered_map<std::string, std::vector<int>> um;
	std::ostringstream out;

	for (int i = 0; i < 100000; i++) {
		int k = (i * 7919 + t * 104729) % 5003;
		m[k] += std::to_string(i % 10);
		um["key" + std::to_string(k % 997)].push_back(i);
		if (m[k].size() > 64)
			m.erase(k);
	}
	std::vector<std::string> keys;
	for (auto &kv : um)
		keys.push_back(kv.first + ":" + std::to_string(kv.second.size()));
	std::sort(keys.begin(), keys.end());
	std::string all;
	for (auto &k : keys)
		all += k;
	std::uint64_t h = fnv(all);
	for (auto &kv : m)
		h = fnv(kv.second, h ^ (std::uint64_t)kv.first);
	std::vector<std::unique_ptr<std::string>> big;
	for (int i = 0; i < 40; i++)
		big.emplace_back(new std::string((size_t)(i + 1) * 5000 + (size_t)t,
						  (char)('a' + i % 26)));
	for (auto &b : big)
		h = fnv(*b, h);
	out << "thread " << t << " map " << m.size() << " umap " << um.size()
	    << " hash " << std::hex << h;
	return out.str();
}

} // namespace

int
main()
{
	const int producers = 4, consumers = 4, per_producer = 3000;
	Queue q;
	std::vector<std::thread> th;
	std::vector<std::uint64_t> digest(consumers, 0);
	std::vector<long> count(consumers, 0);
	std::vector<std::string> local(producers + consumers);

	for (int p = 0; p < producers; p++)
		th.emplace_back([&, p] {
			for (int i = 0; i < per_producer; i++)
				q.push(make_record((std::uint64_t)p + 1, i));
			local[p] = local_work(p);
		});
	for (int c = 0; c < consumers; c++)
		th.emplace_back([&, c] {
			local[producers + c] = local_work(producers + c);
			// Order-independent digest: sum of per-record hashes.
			while (auto r = q.pop()) {
				std::uint64_t h = fnv(r->name);
				for (auto v : r->values)
					h = h * 31 + v;
				for (auto &kv : r->attrs)
					h = fnv(kv.first + kv.second, h);
				digest[c] += h;
				count[c]++;
			}
		});
	for (int p = 0; p < producers; p++)
		th[p].join();
	q.close();
	for (int c = 0; c < consumers; c++)
		th[producers + c].join();

	std::uint64_t total = 0;
	long n = 0;
	for (int c = 0; c < consumers; c++) {
		total += digest[c];
		n += count[c];
	}
	for (auto &s : local)
		std::printf("%s\n", s.c_str());
	std::printf("records %ld digest %016llx\n", n,
		    (unsigned long long)total);
	return n == producers * per_producer ? 0 : 1;
}
