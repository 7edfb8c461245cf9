"""The lifecycle of an agreement: where a transition is decided (the workflow's machine), written (the kernel) and what its handlers add (deadlines, notices); workflow version migration."""
