// sluiced/main.cpp: the daemon entry point (wiring only).
int main() { return 0; }
