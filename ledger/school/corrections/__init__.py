"""Correction requests with four-eyes approval (the regulation's Điều 4.4, 17.3; DOMAIN §5).

A teacher files a written request: which assessment (or conduct rating), the value recorded, the
value wanted, the reason, and optionally the hash of an attachment. The principal or a vice-principal
who holds that role at that moment approves or rejects it, with a reason; nobody decides their own
request. An approval appends the change itself as a new event that names the request and the approval.
Requests still pending when their deadline passes expire, and the expiry is an event too.
"""
