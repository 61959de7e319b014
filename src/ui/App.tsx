export function App() {
  return (
    <main>
      <h1>ReDO Studio</h1>
      <p>Unsupervised object segmentation by redrawing, trained in your browser.</p>
    </main>
  );
}
