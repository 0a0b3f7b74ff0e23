-- When an instance ended its settling (ClaimLoop.settle) and began to claim. An instance still
-- settling stops as soon as a peer registered no earlier than itself has settled, live or not: that
-- peer's shares already count the settling one and leave its part unclaimed. Without it, an instance
-- waiting for TOTAL_INSTANCES that one of them never reached (it died at once) waited ten settles while
-- its part of the work, a task recovered from the dead one included, stayed due.
alter table instances add column settled_at timestamptz;
