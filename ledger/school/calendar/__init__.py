"""The school calendar, entry locks, and the rule every change of assessment data passes on the append
path (the regulation's Điều 25, 33.3c, 36.2; DOMAIN §4).

- The principal sets each year's calendar: terms, an entry window per term, the close of the year's
  data (31 May) and the final date for students with summer work (30 August). Times are +07:00.
- The admin closes and opens entry for the whole school, a class, a subject or a term, on the
  principal's written order, which the event names.
- A change is refused outside its term's entry window, under a closed lock, after the close (except
  for a student with summer re-assessment or summer training, until the final date), and after the
  final date for everyone. A correction approved by leadership passes windows and locks, never the
  close or the final date. Every refusal names the rule, the moment and the way forward.
"""
