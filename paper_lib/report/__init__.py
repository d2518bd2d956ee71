"""Tables and figures the notebooks show (the notebooks only call these and save the results)."""
