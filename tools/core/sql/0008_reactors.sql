-- Which reactor has handled which event: the claim that makes every reaction happen once.
create table reactor_runs (
    event_id   bigint not null references event_log on delete cascade,
    reactor    text not null,
    outcome    text not null
        constraint reactor_outcome check (outcome in ('DONE', 'SKIPPED', 'FAILED')),
    detail     text not null default '',
    handled_at timestamptz not null,
    primary key (event_id, reactor)
);
comment on table reactor_runs is
    'Each (event, reactor) pair handled once: the outcome and what was done or why not.';
create index reactor_runs_event on reactor_runs (event_id desc);
