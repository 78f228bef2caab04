"""Assessment data: regular, mid-term and end-of-term results, subject comments, conduct, absences, homeroom comments,
summer re-assessment and the summer conduct re-assessment."""
