// cli/main.cpp: the sluice command.
int main() { return 0; }
