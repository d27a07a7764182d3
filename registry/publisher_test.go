package registry

import "testing"

func TestPublishers_RowsAreReplacedAndDeleted(t *testing.T) {
	r, w := New()
	must(t, w.Publishers.PutPublisher(Publisher{ID: "warren/publishers/publishers-2", State: PublisherWaiting}))
	must(t, w.Publishers.PutPublisher(Publisher{ID: "warren/publishers/publishers-1", State: PublisherWaiting}))
	must(t, w.Publishers.PutPublisher(Publisher{ID: "warren/publishers/publishers-1", State: PublisherReady, Published: 7}))
	rows := r.Publishers()
	if len(rows) != 2 || rows[0].ID != "warren/publishers/publishers-1" || rows[0].Published != 7 || rows[0].State != PublisherReady {
		t.Fatalf("rows = %+v", rows)
	}
	must(t, w.Publishers.DeletePublisher("warren/publishers/publishers-1"))
	if _, ok := r.Publisher("warren/publishers/publishers-1"); ok {
		t.Fatal("deleted row still there")
	}
	if row, ok := r.Publisher("warren/publishers/publishers-2"); !ok || row.State != PublisherWaiting {
		t.Fatalf("other row = %+v, %v", row, ok)
	}
}
