package pades_test

import (
	"runtime"
	"sync"
	"time"
)

// heapSampler records the largest heap growth over base while running.
type heapSampler struct {
	base, peak uint64
	mu         sync.Mutex
}

func (s *heapSampler) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.mu.Lock()
	if m.HeapAlloc > s.base && m.HeapAlloc-s.base > s.peak {
		s.peak = m.HeapAlloc - s.base
	}
	s.mu.Unlock()
}

func (s *heapSampler) start() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				s.sample()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		s.sample()
	}
}

// startFromNow records the current heap as base and starts sampling.
func startFromNow(s *heapSampler) (stop func()) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.base = m.HeapAlloc
	return s.start()
}
