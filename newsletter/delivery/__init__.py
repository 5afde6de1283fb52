"""Delivery: the send ledger, sending a campaign, pacing, the schedule, bounces, reports.

Owns every statement on the delivery tables (through `ledger`). Imports `subscribers`, `mail`,
`content` and the kernel.
"""
