#pragma once
// The handlers of SPEC §4.1 and §4.2. Each turns a request into aggregator
// calls and their results into a response. They own no I/O.

#include "rollupd/http/router.hpp"

namespace rollup::http {

// POST /notifications, POST /v1/notifications (ingest.cpp)
void handle_ingest(const services& s, handler_input in, respond done);

// aggregations.cpp
void handle_get_aggregation(const services& s, handler_input in, respond done);    // GET /v1/aggregations/{email}
void handle_list_aggregations(const services& s, handler_input in, respond done);  // GET /v1/aggregations
void handle_flush(const services& s, handler_input in, respond done);  // POST /v1/aggregations/{email}/flush

// digests.cpp
void handle_get_digest(const services& s, handler_input in, respond done);    // GET /v1/digests/{id}
void handle_list_digests(const services& s, handler_input in, respond done);  // GET /v1/digests
void handle_redeliver(const services& s, handler_input in, respond done);     // POST /v1/digests/{id}/redeliver

// admin.cpp
void handle_checkpoint(const services& s, handler_input in, respond done);  // POST /v1/admin/checkpoint

// metrics.cpp
void handle_metrics(const services& s, handler_input in, respond done);  // GET /metrics

// health.cpp
void handle_livez(const services& s, handler_input in, respond done);   // GET /livez
void handle_readyz(const services& s, handler_input in, respond done);  // GET /readyz

}  // namespace rollup::http
