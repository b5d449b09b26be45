"""Routes compatible with other systems' APIs, mapped onto OpenProctor's exams, candidates
and violations."""
