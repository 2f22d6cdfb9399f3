"""Cameras of a clip: initial view selection (App. C.3) and camera tracking (Sec. 3.3, Eq. 7–8)."""
