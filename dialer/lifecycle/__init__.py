"""What happens to a lead after each call, as pure rules.

Nothing here touches the database or reads the clock: `rules` holds a
campaign's statuses, call modes and wrap codes; `windows` says when a lead may
be called; `outcomes` turns a dial outcome into the lead's next state;
`wraps` does the same for an operator's wrap code; `callbacks` decides who may
take a due callback; `validation` holds the call-centre contact-status moves.
The SQL that applies these lives in `dialer/store/attempts.py`,
`dialer/store/lead_ops.py`, `dialer/store/validation.py` and
`dialer/store/bulk_edit.py`.
"""
