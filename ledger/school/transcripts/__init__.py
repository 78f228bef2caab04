"""The read side that composes the aggregates: one student's year evaluated with the TT22 rules, a
class's lists, and the học bạ document model that the XML and the PDF render."""
