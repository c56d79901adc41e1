"""doctor: the seed's troubleshooting checklist as automated checks, and mechanical fixes."""
