-- Fulfilment: what orders, inventory and logistics need beyond the plant model.

-- A reservation whose stock has left with a shipment is FULFILLED: it no longer holds stock,
-- and it stays on record as the link between the order line and the facility that shipped it.
alter table stock_reservations drop constraint reservation_status;
alter table stock_reservations add constraint reservation_status
    check (status in ('RESERVED', 'COMMITTED', 'RELEASED', 'FULFILLED'));
comment on constraint reservation_status on stock_reservations is
    'a reservation is RESERVED, COMMITTED, RELEASED or FULFILLED';
create index stock_reservations_open on stock_reservations (sku, facility_id)
    where status in ('RESERVED', 'COMMITTED');

-- When the free stock of a level fell to its reorder point (null while above it): `stock.low`
-- is raised once per dip, when this goes from null to a time, not on every later change.
alter table stock_levels add column low_since timestamptz;

-- Why a shipment was delayed, held or cancelled (null for ordinary scans).
alter table shipment_events add column reason text;
alter table shipment_events add constraint shipment_event_reason_length
    check (reason is null or length(reason) between 1 and 500);
comment on constraint shipment_event_reason_length on shipment_events is
    'a tracking event''s reason is 1 to 500 characters';

create index shipment_lines_order_line on shipment_lines (order_id, line_no);
create index purchase_orders_open on purchase_orders (sku, facility_id)
    where status in ('PENDING', 'IN_TRANSIT', 'DELAYED');
