"""Reports for supervisors: reply timing per agent and overall, and the live queue."""
