use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onramp",
        description = "Order and track private connectivity into the clouds. Errors are RFC 9457 problem+json.",
        version = "0.1.0"
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "connectors", description = "Cloud connectors and their lifecycle"),
        (name = "links", description = "Links: a tenant's connectors joined in a routing domain of their own (a VRF with its own RD/RT)"),
        (name = "events", description = "Every state change, as a Server-Sent Events stream"),
        (name = "webhooks", description = "Signed HTTP deliveries of every state change to the tenant's endpoints"),
        (name = "api-keys", description = "The caller's API keys: create (shown once), list, revoke"),
        (name = "tasks", description = "Ops tasks: the manual steps of ticket-csp connectors, done by people (ops and admin keys only)"),
        (name = "admin", description = "Inventory administration: PE routers, ports, NNIs and resource pools (admin keys only)"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// What every operation shares, added once the routers' paths are in the
/// document: the headers of idempotent creation and of conditional updates,
/// ETags, and the problem answers any operation can give.
pub(crate) struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                (&mut item.get, "get"),
                (&mut item.post, "post"),
                (&mut item.put, "put"),
                (&mut item.patch, "patch"),
                (&mut item.delete, "delete"),
            ];
            for (op, method) in ops {
                let Some(op) = op.as_mut() else { continue };
                conventions(op, method);
            }
        }
    }
}

fn conventions(op: &mut Operation, method: &str) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    params.push(header_param(
        "X-Request-Id",
        "Your id for this request (1-128 of A-Z a-z 0-9 - _ . : / + = @), \
         answered back and carried into the jobs the request causes, so \
         the operator's logs can be searched by it. Anything else is \
         replaced by a new UUID.",
    ));
    match method {
        "post" => params.push(header_param(
            "Idempotency-Key",
            "Makes a retried request safe: the first answer to a key is \
             replayed for 24 hours and nothing is created twice. 1-255 \
             printable ASCII characters. The same key with another body is \
             refused (422 `idempotency_key_reused`); while the first request \
             runs, a retry gets 409. Where the first answer showed a secret \
             once (an API key, a webhook secret), the replay has it null.",
        )),
        "put" | "patch" => params.push(header_param(
            "If-Match",
            "An ETag from a GET of this resource (or `*`): the update runs \
             only if the resource is unchanged since, otherwise 412.",
        )),
        "get" => params.push(header_param(
            "If-None-Match",
            "An ETag from an earlier GET: 304 without a body if unchanged.",
        )),
        _ => {}
    }
    let responses = &mut op.responses.responses;
    for (code, resp) in responses.iter_mut() {
        let RefOr::T(resp) = resp else { continue };

        let json = resp.content.contains_key("application/json");
        if code.starts_with('2') && json && matches!(method, "get" | "put" | "patch") {
            resp.headers.insert(
                "ETag".into(),
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .description(Some(
                            "The representation's strong ETag, for If-Match and If-None-Match",
                        ))
                        .build(),
                ),
            );
        }
    }
    if method == "get" && responses.keys().any(|c| c == "200") {
        responses.entry("304".into()).or_insert_with(|| {
            RefOr::T(Response::new("Not modified since the If-None-Match ETag"))
        });
    }
    if matches!(method, "put" | "patch") {
        responses.entry("412".into()).or_insert_with(|| {
            problem("`precondition_failed`: the resource changed since the If-Match ETag was read")
        });
        responses
            .entry("400".into())
            .or_insert_with(|| problem("Malformed JSON or a malformed If-Match"));
    }
    if method == "post" {
        responses
            .entry("400".into())
            .or_insert_with(|| problem("Malformed JSON, or an invalid Idempotency-Key"));
        responses.entry("409".into()).or_insert_with(|| {
            problem("`idempotency_key_in_progress`: a request with this Idempotency-Key is still running")
        });
        responses.entry("422".into()).or_insert_with(|| {
            problem("Invalid input, `errors` names the fields; or `idempotency_key_reused`")
        });
    }
    if op.request_body.is_some() {
        responses
            .entry("413".into())
            .or_insert_with(|| problem("`payload_too_large`: the body is larger than 2 MiB"));
        // Every JSON body is read by body::json_object, so every operation
        // that takes one may answer this, whatever its own text says.
        if let Some(RefOr::T(bad)) = responses.get_mut("400")
            && !bad.description.contains("duplicate_member")
        {
            bad.description.push_str(
                "; or `duplicate_member`: an object names a member twice (`errors[0].field` names it)",
            );
        }
    }
    if op.security.is_some() {
        responses
            .entry("401".into())
            .or_insert_with(|| problem("No or bad API key"));
    }
    responses
        .entry("500".into())
        .or_insert_with(|| problem("`internal_error`: onramp failed; the request may be retried"));
    // Every answer, problems included (request_id.rs).
    for resp in responses.values_mut() {
        let RefOr::T(resp) = resp else { continue };
        resp.headers.insert(
            "X-Request-Id".into(),
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .description(Some(
                        "The request's id: yours if it was sane, else a new UUID",
                    ))
                    .build(),
            ),
        );
    }
}

fn header_param(name: &str, description: &str) -> RefOr<Parameter> {
    RefOr::T(
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build(),
    )
}

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}
