#include "http/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace hostflow::exporter {

namespace {

std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

int sans_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// OpenSSL asks for each certificate of the client's chain, deepest first; depth 0 is the client's.
int verify_client(int preverify_ok, X509_STORE_CTX* store) {
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* tls =
      static_cast<const TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sans_index()));
  if (!tls) return 0;
  if (client_cert_verified(tls->client_auth) && !preverify_ok) return 0;
  if (X509_STORE_CTX_get_error_depth(store) == 0 && !tls->allowed_sans.empty()) {
    const X509* cert = X509_STORE_CTX_get_current_cert(store);
    bool allowed = false;
    for (const std::string& san : certificate_sans(cert))
      if (std::find(tls->allowed_sans.begin(), tls->allowed_sans.end(), san) !=
          tls->allowed_sans.end())
        allowed = true;
    if (!allowed) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  }
  return 1;  // not verified (RequestClientCert, RequireAnyClientCert) or verified above
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += ':';
    out += s;
  }
  return out;
}

}  // namespace

Result<std::string> read_small_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{errno, what + ": cannot read " + path};
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Error{errno, what + ": cannot read " + path};
  return std::move(s).str();
}

std::vector<std::string> certificate_sans(const x509_st* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(const_cast<X509*>(cert), NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    auto text = [](const ASN1_STRING* s) {
      return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    };
    if (n->type == GEN_DNS) {
      out.push_back(text(n->d.dNSName));
    } else if (n->type == GEN_EMAIL) {
      out.push_back(text(n->d.rfc822Name));
    } else if (n->type == GEN_URI) {
      out.push_back(text(n->d.uniformResourceIdentifier));
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = n->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = {};
      const int len = ASN1_STRING_length(ip);
      const unsigned char* p = ASN1_STRING_get0_data(ip);
      if (len == 4 && inet_ntop(AF_INET, p, buf, sizeof buf)) out.emplace_back(buf);
      if (len == 16) {
        // Go prints an IPv4-mapped IPv6 address as IPv4.
        static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::equal(p, p + 12, kMapped) && inet_ntop(AF_INET, p + 12, buf, sizeof buf))
          out.emplace_back(buf);
        else if (inet_ntop(AF_INET6, p, buf, sizeof buf))
          out.emplace_back(buf);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

Result<std::shared_ptr<TlsContext>> make_tls_context(const TlsServerConfig& t) {
  const std::string w = "tls_server_config";
  std::string cert = t.cert, key = t.key, ca = t.client_ca;
  if (!t.cert_file.empty()) {
    auto r = read_small_file(t.cert_file, w + ".cert_file");
    if (!r.ok()) return r.error();
    cert = std::move(*r);
  }
  if (!t.key_file.empty()) {
    auto r = read_small_file(t.key_file, w + ".key_file");
    if (!r.ok()) return r.error();
    key = std::move(*r);
  }
  if (!t.client_ca_file.empty()) {
    auto r = read_small_file(t.client_ca_file, w + ".client_ca_file");
    if (!r.ok()) return r.error();
    ca = std::move(*r);
  }
  auto out = std::make_shared<TlsContext>();
  out->client_auth = t.client_auth;
  out->allowed_sans = t.client_allowed_sans;
  SSL_CTX* ctx = out->ctx.native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(ctx, t.min_version);
  SSL_CTX_set_max_proto_version(ctx, t.max_version);
  // Below TLS 1.2 needs SHA-1 signatures: Debian's default security level 2 refuses them.
  if (t.min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx, 0);
  long opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if (t.prefer_server_cipher_suites) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(ctx, opts);
  boost::system::error_code ec;
  out->ctx.use_certificate_chain(boost::asio::buffer(cert), ec);
  if (ec) return Error{0, w + ": the certificate: " + openssl_error()};
  out->ctx.use_private_key(boost::asio::buffer(key), boost::asio::ssl::context::pem, ec);
  if (ec) return Error{0, w + ": the key: " + openssl_error()};
  if (SSL_CTX_check_private_key(ctx) != 1)
    return Error{0, w + ": the key does not match the certificate"};
  if (!t.cipher_suites.empty() && SSL_CTX_set_cipher_list(ctx, join(t.cipher_suites).c_str()) != 1)
    return Error{0, w + ".cipher_suites: OpenSSL has none of them: " + openssl_error()};
  if (!t.curve_preferences.empty() &&
      SSL_CTX_set1_groups_list(ctx, join(t.curve_preferences).c_str()) != 1)
    return Error{0, w + ".curve_preferences: " + openssl_error()};
  if (!ca.empty()) {
    out->ctx.add_certificate_authority(boost::asio::buffer(ca), ec);
    if (ec) return Error{0, w + ": the client CA: " + openssl_error()};
  }
  int mode = SSL_VERIFY_NONE;
  if (t.client_auth != ClientAuth::kNoClientCert) mode = SSL_VERIFY_PEER;
  if (client_cert_required(t.client_auth)) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_ex_data(ctx, sans_index(), out.get());
  SSL_CTX_set_verify(ctx, mode, mode == SSL_VERIFY_NONE ? nullptr : verify_client);
  static constexpr unsigned char kSessionContext[] = "hostflow-exporter";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  return out;
}

}  // namespace hostflow::exporter
