// Profile `oie`: the OpenStack Instance Exporter's oie_* families (seed 002,
// webnifico/openstack_instance_exporter at the version its README documents, 74e4cb1), from
// hostflow's VM, conntrack, threat-list and sampler families. Per-instance series carry OIE's
// UUID labels, values OIE's units and rounding (bytes / 2^30 and seconds rounded to five
// decimals), and OIE's gates (--cpu.min, --conntrack.min, disk and vNIC activity, the outbound
// port sub-gate). Its own state: the running sums of oie_<list>_contact and the minute-tick
// cleanup of that state. docs/compat.md#oie. hostflow-exporter, poll thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "compat/profile.h"

namespace hostflow::exporter {

std::unique_ptr<Profile> make_oie_profile(const ExporterConfig& cfg);

// OIE's roundToFiveDecimals: math.Round(v*1e5)/1e5 (half away from zero).
double oie_round5(double v);
// OIE's *_gbytes: bytes * 2^-30, rounded to five decimals.
double oie_gbytes(double bytes);

// A Nova text label as OIE writes it: strings.TrimSpace, "" -> "unknown".
std::string oie_text_label(std::string_view s);
// A Nova number label (<nova:vcpus>, <nova:memory>) as OIE writes it: encoding/xml into a Go
// int (spaces trimmed, "" -> 0, an optional sign, base 10, 64-bit) and strconv.Itoa back.
// Nullopt when Go's parse fails: OIE then skips the whole domain.
std::optional<std::string> oie_int_label(std::string_view s);

// OIE's disk labels from hostflow's disk_type and disk_path (hostflow_vm_disk_info): a file
// disk is tier "local" with its file as disk_uuid; any other is split at "/" of <source name>
// (the first two parts, else "unknown"/"unknown").
struct OieDisk {
  std::string tier, uuid;
};
OieDisk oie_disk_labels(std::string_view disk_type, std::string_view disk_path);

// OIE's threshold of a tier: the tier's own, else "default", else the built-in default.
double oie_threshold(const std::map<std::string, double>& per_tier, std::string_view tier,
                     double dflt);

}  // namespace hostflow::exporter
