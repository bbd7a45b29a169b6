"""The desk as a whole: who is on duty, service hours, the unattended alarm, callbacks due."""
