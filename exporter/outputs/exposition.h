// Exposition: one rendered body, plain and gzip, immutable once made. Rendered once per snapshot
// and shared by every scrape. A small per-scrape "tail" (snapshot age, scrape counts) is appended
// to the plain text, and to the gzip stream by continuing a copy of the deflate state, so a scrape
// never re-compresses the body. Runs in hostflow-exporter.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace hostflow::exporter {

class Exposition {
 public:
  explicit Exposition(std::string text);
  ~Exposition();
  Exposition(const Exposition&) = delete;
  Exposition& operator=(const Exposition&) = delete;

  const std::string& text() const { return text_; }
  // gzip member header + the body deflated with a sync flush (not yet finished).
  const std::string& gzip_prefix() const { return gzip_prefix_; }
  // The rest of the gzip stream: `tail` deflated, then the trailer (CRC and length of all).
  std::string gzip_finish(std::string_view tail) const;

 private:
  struct Deflate;
  std::string text_;
  std::string gzip_prefix_;
  std::unique_ptr<Deflate> z_;
  mutable std::mutex mu_;
};

}  // namespace hostflow::exporter
