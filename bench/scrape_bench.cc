// hostflow-scrape-bench: scrapes a metrics URL N times over one keep-alive connection (as
// Prometheus does) and prints latency median / p99 / max and the body size.
//   hostflow-scrape-bench URL [N] [gzip|plain]
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {
std::size_t sink(char*, std::size_t size, std::size_t n, void* ud) {
  *static_cast<std::size_t*>(ud) += size * n;
  return size * n;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL [N] [gzip|plain]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const int n = argc > 2 ? std::atoi(argv[2]) : 200;
  const bool gzip = argc > 3 && std::string(argv[3]) == "gzip";
  CURL* c = curl_easy_init();
  std::size_t bytes = 0;
  curl_slist* headers = nullptr;
  if (gzip)
    headers = curl_slist_append(headers, "Accept-Encoding: gzip");  // wire bytes, not decoded
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(n));
  std::size_t last = 0;
  for (int i = 0; i < n + 5; i++) {
    bytes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const CURLcode rc = curl_easy_perform(c);
    const auto t1 = std::chrono::steady_clock::now();
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
      std::fprintf(stderr, "scrape failed: %s (HTTP %ld)\n", curl_easy_strerror(rc), status);
      return 1;
    }
    if (i >= 5)
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // 5 warm-up
    last = bytes;
  }
  std::sort(ms.begin(), ms.end());
  auto q = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * ms.size()))];
  };
  std::printf("scrapes=%d median_ms=%.3f p99_ms=%.3f max_ms=%.3f body_bytes=%zu encoding=%s\n", n,
              q(0.5), q(0.99), ms.back(), last, gzip ? "gzip" : "plain");
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return 0;
}
