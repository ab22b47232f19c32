-- Stock held for an order waits for production to start only so long: a reservation still
-- RESERVED at its expiry is released by the plant rules and its stock is free again. Rows made
-- before this rule (and with no hold set) have no expiry.
alter table stock_reservations add column expires_at timestamptz;
comment on column stock_reservations.expires_at is
    'when a RESERVED reservation is released if production has not started (null: never)';
create index stock_reservations_expiring on stock_reservations (expires_at)
    where status = 'RESERVED' and expires_at is not null;
