"""Queues: the hopper (which lead is dialed next) and, later, the operator queue."""
