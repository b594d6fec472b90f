"""Print the first ten primes."""

primes: list[int] = []
n = 2
while len(primes) < 10:
    if all(n % p for p in primes):
        primes.append(n)
    n += 1
print("The first ten primes are", *primes)
