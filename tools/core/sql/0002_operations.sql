-- Idempotency keys: a write repeated with the same key returns its first result and does nothing.
create table idempotency_keys (
    key        text primary key
        constraint idempotency_key_format check (length(key) between 1 and 200),
    operation  text not null,
    result     jsonb not null,
    created_at timestamptz not null
);
comment on constraint idempotency_key_format on idempotency_keys is
    'an idempotency key is 1 to 200 characters';

create index audit_log_actor on audit_log (actor_type, actor_id, at);
create index audit_log_thread on audit_log (thread_id) where thread_id is not null;
create index audit_log_approval on audit_log (approval_id) where approval_id is not null;
