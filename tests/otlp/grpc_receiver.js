// A stand-in OTLP/gRPC collector for the tests, built from third-party parts only: @grpc/grpc-js
// serves opentelemetry.proto.collector.metrics.v1.MetricsService/Export as @grpc/proto-loader
// loads it from the OpenTelemetry project's own .proto files (npm, see package.json), so the
// request is decoded with the official definitions (a field hostflow numbered wrongly is lost or
// fails here). Each decoded request is encoded again with the same definitions and saved as
// DIR/req-N.bin (the tests read it with `protoc --decode`, as the HTTP receiver's), and
// "N CODE SHA256 MONOTONIC_S PATH META" is appended to DIR/log, META being
// "header=<x-hostflow-test metadata>,encoding=<the message's compression>". Prints its port to
// DIR/port.
// MODE: ok; unavailable-once (UNAVAILABLE, then OK); invalid-argument (always);
// exhausted-retryinfo-once (RESOURCE_EXHAUSTED with a google.rpc.RetryInfo of 2 s, then OK).
// Listens on [::] (IPv4 too); with CERT and KEY, TLS; with CA too, clients must present a
// certificate from it (mutual TLS).
// Usage: node grpc_receiver.js DIR MODE [CERT KEY [CA]]
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [dir, mode, certFile, keyFile, caFile] = process.argv.slice(2);
const protos = path.join(__dirname,
                         'node_modules/@opentelemetry/otlp-grpc-exporter-base/build/protos');
const def = protoLoader.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
                                 {includeDirs: [protos], keepCase: true, longs: String});
const service = grpc.loadPackageDefinition(def).opentelemetry.proto.collector.metrics.v1
                    .MetricsService.service;
const method = def['opentelemetry.proto.collector.metrics.v1.MetricsService'].Export;

// google.rpc.Status{code: 8, details: [Any(google.rpc.RetryInfo{retry_delay: {seconds: 2}})]},
// written out field by field (googleapis' numbers) so it is independent of hostflow's protos.
function retryInfoStatus() {
  const len = (b) => Buffer.from([b.length]);
  const field = (tag, b) => Buffer.concat([Buffer.from([tag]), len(b), b]);
  const retryInfo = field(0x0a, Buffer.from([0x08, 0x02]));  // retry_delay{seconds: 2}
  const any = Buffer.concat([field(0x0a, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')),
                             field(0x12, retryInfo)]);
  return Buffer.concat([Buffer.from([0x08, 0x08]), field(0x1a, any)]);
}

// grpc-js keeps the request's grpc-encoding from the application; record the encoding of the
// last message that arrived compressed (its wire flag set) from the pinned version's call class.
let lastEncoding = '-';
const calls = require('@grpc/grpc-js/build/src/server-interceptors');
const decompress = calls.BaseServerInterceptingCall.prototype.decompressMessage;
calls.BaseServerInterceptingCall.prototype.decompressMessage = function(message, encoding) {
  lastEncoding = encoding;
  return decompress.call(this, message, encoding);
};

let count = 0;
function exportCall(call, callback) {
  const n = count++;
  const body = method.requestSerialize(call.request);
  let code = grpc.status.OK;
  if (mode === 'invalid-argument') code = grpc.status.INVALID_ARGUMENT;
  if (mode === 'unavailable-once' && n === 0) code = grpc.status.UNAVAILABLE;
  if (mode === 'exhausted-retryinfo-once' && n === 0) code = grpc.status.RESOURCE_EXHAUSTED;
  fs.writeFileSync(path.join(dir, `req-${n}.bin`), body);
  const header = call.metadata.get('x-hostflow-test')[0] || '-';
  const encoding = lastEncoding;
  lastEncoding = '-';
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  const t = (Number(process.hrtime.bigint()) / 1e9).toFixed(3);
  fs.appendFileSync(path.join(dir, 'log'),
                    `${n} ${code} ${sha} ${t} ${call.getPath()} header=${header},encoding=${
                        encoding}\n`);
  if (code === grpc.status.OK) return callback(null, {});
  const trailer = new grpc.Metadata();
  if (code === grpc.status.RESOURCE_EXHAUSTED)
    trailer.set('grpc-status-details-bin', retryInfoStatus());
  callback({code, details: 'test receiver says no', metadata: trailer});
}

const server = new grpc.Server();
server.addService(service, {Export: exportCall});
const creds = certFile ? grpc.ServerCredentials.createSsl(caFile ? fs.readFileSync(caFile) : null,
                                                          [{
                                                            cert_chain: fs.readFileSync(certFile),
                                                            private_key: fs.readFileSync(keyFile),
                                                          }],
                                                          !!caFile)
                       : grpc.ServerCredentials.createInsecure();
server.bindAsync('[::]:0', creds, (err, port) => {
  if (err) throw err;
  fs.writeFileSync(path.join(dir, 'port.tmp'), String(port));
  fs.renameSync(path.join(dir, 'port.tmp'), path.join(dir, 'port'));
});
